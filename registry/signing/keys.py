"""Key material on disk: the registry's root CA and the signing keys it certifies (DESIGN §4).

Rules enforced here:
- every key is ECDSA P-256 and every certificate is signed with SHA-256;
- private keys are unencrypted PKCS#8 PEM files, created with mode 0600 from the first byte
  (``os.open``), in a directory created 0700; existing key files are never overwritten;
- the root is self-signed, a CA for one level (it certifies signing keys only) and also signs the
  trust bundle, so it carries digitalSignature besides keyCertSign and cRLSign;
- a signing key's ``kid`` is its RFC 7638 JWK thumbprint; its certificate is valid from creation
  for ``sign_days + longest_certificate_days`` while the key signs only for ``sign_days``, so a
  PDF never outlives the certificate that signed it; the certificate never outlives the root;
- a ``kid`` names a file only once it is checked to be a thumbprint (43 base64url characters),
  so no ``kid`` can point outside the key directory.
Times are integer UTC seconds, as every stored time is.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from joserfc.jwk import ECKey

from registry.domain.dates import DAY
from registry.domain.signing_key import SigningKeyStatus
from registry.errors import Conflict, InvalidInput
from registry.signing.errors import KeyMaterialError
from registry.signing.validity import KeyRecord

ROOT_KEY = "root-ca.key"
ROOT_CERTIFICATE = "root-ca.pem"
# RFC 7638 §3: base64url (no padding) of a SHA-256 digest is always 43 characters.
_KID = re.compile(r"^[A-Za-z0-9_-]{43}$")
# RFC 9336 id-kp-documentSigning, and Microsoft's Document Signing purpose, which Adobe Acrobat
# accepts where it may not yet know RFC 9336.
_DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
_MS_DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.4.1.311.10.3.12")
# NSS (pdfsig, Evince, Okular) checks a PDF signer as an S/MIME signer: without emailProtection
# it answers "Certificate type not approved for application" even for a trusted root.
_EMAIL_PROTECTION = ExtendedKeyUsageOID.EMAIL_PROTECTION


@dataclass(frozen=True)
class KeyFiles:
    """Where the key files live: one directory, configurable, mounted into each process."""

    directory: Path

    @property
    def root_key(self) -> Path:
        """The root CA's private key."""
        return self.directory / ROOT_KEY

    @property
    def root_certificate(self) -> Path:
        """The root CA's self-signed certificate."""
        return self.directory / ROOT_CERTIFICATE

    def signing_key(self, kid: str) -> Path:
        """The private key of signing key ``kid``."""
        return self.directory / f"signing-{checked_kid(kid)}.key"

    def signing_certificate(self, kid: str) -> Path:
        """The certificate of signing key ``kid``."""
        return self.directory / f"signing-{checked_kid(kid)}.pem"


@dataclass(frozen=True)
class RootInfo:
    """The root CA as verifiers see it: certificate, public key and SHA-256 fingerprint."""

    certificate_pem: str
    public_key: ec.EllipticCurvePublicKey
    sha256: str
    kid: str
    not_before: int
    not_after: int


@dataclass(frozen=True)
class SigningKeyInfo:
    """A new signing key's public facts: what the service stores and publishes."""

    kid: str
    certificate_pem: str
    not_before: int
    not_after: int
    sign_until: int
    public_jwk: dict[str, Any]

    def record(self) -> KeyRecord:
        """The key as the registry stores it on creation: active, not revoked."""
        return KeyRecord(
            kid=self.kid,
            status=SigningKeyStatus.active,
            not_before=self.not_before,
            not_after=self.not_after,
            sign_until=self.sign_until,
            certificate_pem=self.certificate_pem,
        )


def checked_kid(kid: str) -> str:
    """Return ``kid`` if it has the shape of an RFC 7638 SHA-256 thumbprint, else raise."""
    if not isinstance(kid, str) or not _KID.match(kid):
        shown = repr(kid) if isinstance(kid, str) and len(kid) <= 64 else "something else"
        raise InvalidInput(
            f"expected a key ID of 43 base64url characters (an RFC 7638 thumbprint), found {shown}",
            field="kid",
        )
    return kid


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """The RFC 7638 JWK thumbprint (SHA-256, base64url) of a P-256 public key."""
    return ECKey.import_key(_p256(public_key)).thumbprint()


def certificate_sha256(certificate_pem: str) -> str:
    """Hex SHA-256 of a certificate's DER encoding: its fingerprint."""
    return hashlib.sha256(_der(load_certificate(certificate_pem))).hexdigest()


def load_certificate(certificate_pem: str) -> x509.Certificate:
    """Parse one PEM certificate, raising KeyMaterialError when it is not one."""
    try:
        return x509.load_pem_x509_certificate(certificate_pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as e:
        raise KeyMaterialError("expected a PEM X.509 certificate, found unreadable text") from e


def certificate_public_key(certificate_pem: str) -> ec.EllipticCurvePublicKey:
    """The P-256 public key certified by ``certificate_pem``."""
    return certified_key(load_certificate(certificate_pem))


def certified_key(certificate: x509.Certificate) -> ec.EllipticCurvePublicKey:
    """The public key of ``certificate``, which must be ECDSA P-256."""
    return _p256(certificate.public_key())


def public_jwk(certificate_pem: str, root_certificate_pem: str) -> dict[str, Any]:
    """The RFC 7517 JWK of a signing certificate, with ``x5c`` = [its DER, the root's DER]."""
    certificate = load_certificate(certificate_pem)
    public_key = _p256(certificate.public_key())
    jwk = ECKey.import_key(public_key).as_dict(private=False)
    return {
        "kty": jwk["kty"],
        "crv": jwk["crv"],
        "x": jwk["x"],
        "y": jwk["y"],
        "kid": key_id(public_key),
        "use": "sig",
        "alg": "ES256",
        # RFC 7517 §4.7: standard base64 (not base64url) of each DER certificate, leaf first.
        "x5c": [
            base64.b64encode(_der(certificate)).decode("ascii"),
            base64.b64encode(_der(load_certificate(root_certificate_pem))).decode("ascii"),
        ],
    }


def create_root_ca(
    files: KeyFiles, now: int, *, common_name: str = "Kitemark Registry Root CA", years: int = 20
) -> RootInfo:
    """Make the root CA's key and self-signed certificate; refuse if a root already exists."""
    _check_positive(years, "years")
    if files.root_key.exists() or files.root_certificate.exists():
        raise Conflict(f"a root CA already exists in {files.directory}; it is never replaced")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    not_before = _moment(now)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + timedelta(days=365 * years + years // 4))
        # RFC 5280 §4.2.1.9: a CA that certifies end entities only.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(digital_signature=True, key_cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _make_directory(files.directory)
    _write_new(files.root_key, _private_pem(key), mode=0o600)
    _write_new(files.root_certificate, _pem(certificate).encode("ascii"), mode=0o644)
    return _root_info(certificate)


def create_signing_key(
    files: KeyFiles,
    now: int,
    *,
    sign_days: int = 365,
    longest_certificate_days: int = 365,
    common_name: str = "Kitemark Registry",
) -> SigningKeyInfo:
    """Make a signing key certified by the root: it signs for ``sign_days`` from ``now``."""
    _check_positive(sign_days, "sign_days")
    _check_positive(longest_certificate_days, "longest_certificate_days")
    root_key = load_root_private_key(files)
    root_certificate = load_certificate(load_root(files).certificate_pem)
    not_before = _moment(now)
    not_after = not_before + timedelta(days=sign_days + longest_certificate_days)
    if not_before < root_certificate.not_valid_before_utc:
        raise KeyMaterialError(
            f"expected now to be within the root CA's validity, but the root starts at "
            f"{root_certificate.not_valid_before_utc:%Y-%m-%d %H:%M:%S} UTC"
        )
    if not_after > root_certificate.not_valid_after_utc:
        raise KeyMaterialError(
            f"a signing certificate valid until {not_after:%Y-%m-%d} would outlive the root CA, "
            f"which expires {root_certificate.not_valid_after_utc:%Y-%m-%d}; renew the root first"
        )
    key = ec.generate_private_key(ec.SECP256R1())
    kid = key_id(key.public_key())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            # Tells rotated certificates apart in PDF readers' signature panels (a kid may hold
            # "_", which the PrintableString of X.520 serialNumber cannot).
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"signing key {kid}"),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(root_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        # ETSI EN 319 142-1 / EN 319 412-2: a document-signing key carries nonRepudiation
        # (contentCommitment), which pyHanko's validator requires by default.
        .add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([_DOCUMENT_SIGNING, _MS_DOCUMENT_SIGNING, _EMAIL_PROTECTION]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )
    _write_new(files.signing_key(kid), _private_pem(key), mode=0o600)
    certificate_pem = _pem(certificate)
    _write_new(files.signing_certificate(kid), certificate_pem.encode("ascii"), mode=0o644)
    return SigningKeyInfo(
        kid=kid,
        certificate_pem=certificate_pem,
        not_before=now,
        not_after=int(not_after.timestamp()),
        sign_until=now + sign_days * DAY,
        public_jwk=public_jwk(certificate_pem, _pem(root_certificate)),
    )


def load_root(files: KeyFiles) -> RootInfo:
    """Read the root CA's certificate (public material only)."""
    return _root_info(load_certificate(_read(files.root_certificate).decode("ascii")))


def load_root_private_key(files: KeyFiles) -> ec.EllipticCurvePrivateKey:
    """The root's private key, checked against its certificate (for signing the trust bundle)."""
    key = _load_private_key(files.root_key)
    if key.public_key() != load_root(files).public_key:
        raise KeyMaterialError(f"{files.root_key} does not match {files.root_certificate}")
    return key


def load_signing_key(
    files: KeyFiles, kid: str
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """Signing key ``kid`` and its certificate, checked to match each other and the ``kid``."""
    key = _load_private_key(files.signing_key(kid))
    certificate = load_certificate(_read(files.signing_certificate(kid)).decode("ascii"))
    if key_id(key.public_key()) != kid or certificate.public_key() != key.public_key():
        raise KeyMaterialError(f"the key files for {kid} do not match that key ID")
    return key, certificate


def _root_info(certificate: x509.Certificate) -> RootInfo:
    public_key = _p256(certificate.public_key())
    return RootInfo(
        certificate_pem=_pem(certificate),
        public_key=public_key,
        sha256=hashlib.sha256(_der(certificate)).hexdigest(),
        kid=key_id(public_key),
        not_before=int(certificate.not_valid_before_utc.timestamp()),
        not_after=int(certificate.not_valid_after_utc.timestamp()),
    )


def _key_usage(
    *,
    digital_signature: bool = False,
    content_commitment: bool = False,
    key_cert_sign: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=key_cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _p256(public_key: object) -> ec.EllipticCurvePublicKey:
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
        public_key.curve, ec.SECP256R1
    ):
        raise KeyMaterialError(f"expected an ECDSA P-256 key, found {type(public_key).__name__}")
    return public_key


def _load_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(_read(path), password=None)
    except (ValueError, TypeError) as e:
        raise KeyMaterialError(f"{path} is not an unencrypted PEM private key") from e
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise KeyMaterialError(f"expected an ECDSA P-256 private key in {path}")
    return key


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise KeyMaterialError(f"cannot read {path}: {e.strerror}") from e


def _make_directory(directory: Path) -> None:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)


def _write_new(path: Path, data: bytes, *, mode: int) -> None:
    """Write ``data`` to a new file created with ``mode``; never replace an existing file.

    The bytes go to a temporary name first and are hard-linked into place, so a crash leaves
    either no file or a whole one, and ``link`` refuses an existing name atomically.
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(temporary, flags, mode)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)
    except FileExistsError as e:
        raise Conflict(f"{path} already exists; key files are never replaced") from e
    finally:
        temporary.unlink(missing_ok=True)


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def _moment(now: int) -> datetime:
    if isinstance(now, bool) or not isinstance(now, int):
        raise TypeError(f"expected integer UTC seconds, found {type(now).__name__}")
    return datetime.fromtimestamp(now, UTC)


def _check_positive(value: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"expected {name} to be a positive whole number, found {value!r}")
