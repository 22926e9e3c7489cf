"""PAdES signatures on certificate PDFs, and their inspection (DESIGN §4; §5 checks 2 and 4).

Rules enforced here:
- signing makes one invisible PAdES baseline B-B signature (ETSI EN 319 142-1 §5.3 and §6.3:
  SubFilter ``ETSI.CAdES.detached``, no CMS signing-time attribute, the signing time in the
  signature dictionary's ``/M``), ECDSA P-256 with SHA-256, by the signing key, with its
  certificate and the root in the CMS certificate set; only a key that may sign now signs
  (``check_may_sign``); the signing time is the caller's ``now``. No timestamp (B-T) yet;
- inspecting never raises on what it is given: garbage, a truncated or unsigned PDF gives a
  report with ``signed`` or ``valid`` False and an ``error`` saying why. Input above
  ``MAX_PDF_BYTES`` is not parsed; pyHanko's decode limits bound stream decompression;
- ``valid`` means intact, cryptographically valid, and chaining to the given root alone (no
  other trust root, no fetching, no revocation checking), judged at the signing time the PDF
  states; whether the key was good at the registry's issuance time is the caller's judgement
  (``validity.key_valid_at``), and so is matching ``signer_kid`` to the certificate's key;
- ``coverage_entire_file`` is pyHanko's ``SignatureCoverageLevel.ENTIRE_FILE``: not one byte
  after the signed revision. pyHanko's ``bottom_line`` still accepts "permitted" incremental
  updates after signing, which a certificate must never have; a second signature is such an
  update, so exactly one signature is valid;
- embedded files are read from the revision the signature covers (ISO 32000-1 §7.11.4, the
  ``/EmbeddedFiles`` name tree of §7.7.4), at most ``MAX_EMBEDDED_FILES`` of them; the first
  of two files with one name wins.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.keys.internal import (
    translate_pyca_cryptography_cert_to_asn1,
    translate_pyca_cryptography_key_to_asn1,
)
from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.decode_limits import DecodeLimits, DocumentDecodeBudget, StreamDecodeLimits
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko.sign.validation import (
    EmbeddedPdfSignature,
    SignatureCoverageLevel,
    async_validate_pdf_signature,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from registry.errors import InvalidInput
from registry.signing.keys import KeyFiles, key_id, load_certificate, load_root, load_signing_key
from registry.signing.validity import KeyRecord, check_may_sign

FIELD_NAME = "KitemarkSignature"
MAX_PDF_BYTES = 32 * 1024 * 1024
MAX_EMBEDDED_FILES = 16
_MAX_NAME_TREE_NODES = 64
_MAX_ERROR_CHARS = 200
_MIB = 1024 * 1024
# Tighter than pyHanko's defaults for untrusted input (256 MiB a stream, 100x the file in all):
# a certificate PDF is tens of kilobytes, so no stream of ours decodes to more than 16 MiB.
_DECODE_LIMITS = DecodeLimits(
    per_stream=StreamDecodeLimits(max_output_size=16 * _MIB),
    document_budget=DocumentDecodeBudget(base_allowance=64 * _MIB, max_ratio=4),
)


@dataclass(frozen=True)
class PdfSignatureReport:
    """What a PDF's signature says, judged against one root; ``error`` says what failed."""

    signed: bool
    intact: bool = False
    valid: bool = False
    coverage_entire_file: bool = False
    signer_certificate_sha256: str | None = None
    signer_kid: str | None = None
    signing_time: int | None = None
    embedded_files: dict[str, bytes] = field(default_factory=dict)
    error: str | None = None


def timestamper_for(tsa_url: str | None) -> TimeStamper | None:
    """An RFC 3161 client for the configured timestamp authority, or None (PAdES B-B)."""
    if not tsa_url:
        return None
    return HTTPTimeStamper(tsa_url, https=tsa_url.startswith("https://"), timeout=10)


def sign_pdf(
    files: KeyFiles,
    key: KeyRecord,
    pdf: bytes,
    *,
    reason: str,
    location: str,
    now: int,
    timestamper: TimeStamper | None = None,
) -> bytes:
    """Sign ``pdf`` as PAdES B-B with signing key ``key`` at ``now``; return the signed bytes.

    Runs its own event loop: from async code, call it in a worker thread or use the async form.
    """
    return asyncio.run(
        async_sign_pdf(
            files, key, pdf, reason=reason, location=location, now=now, timestamper=timestamper
        )
    )


async def async_sign_pdf(
    files: KeyFiles,
    key: KeyRecord,
    pdf: bytes,
    *,
    reason: str,
    location: str,
    now: int,
    timestamper: TimeStamper | None = None,
) -> bytes:
    """The async form of ``sign_pdf`` (CPU-bound: it blocks its event loop while it signs).

    With a ``timestamper`` (a timestamp authority) the signature is PAdES B-T: a signature
    timestamp from the TSA is embedded (ETSI EN 319 142-1 §6.3); without one it is B-B.
    """
    check_may_sign(key, now)
    private_key, certificate = load_signing_key(files, key.kid)
    root = load_certificate(load_root(files).certificate_pem)
    # The root travels with the signature, so a reader can show the whole chain.
    chain = SimpleCertificateStore()  # type: ignore[no-untyped-call]  # unannotated __init__
    chain.register(translate_pyca_cryptography_cert_to_asn1(root))
    signer = signers.SimpleSigner(
        signing_cert=translate_pyca_cryptography_cert_to_asn1(certificate),
        signing_key=translate_pyca_cryptography_key_to_asn1(private_key),
        cert_registry=chain,
        embed_roots=True,
    )
    metadata = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        # ETSI EN 319 142-1 §6.3: PAdES baseline signatures use ETSI.CAdES.detached.
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
    )
    pdf_signer = _PdfSignerAt(
        metadata, signer, timestamper=timestamper, signing_time=datetime.fromtimestamp(now, UTC)
    )
    try:
        writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=True)
        output = await pdf_signer.async_sign_pdf(writer)
    except (misc.PdfError, SigningError) as e:
        raise InvalidInput(f"expected a PDF that can be signed: {_brief(e)}") from e
    return bytes(output.getvalue())


def inspect_pdf(pdf: bytes, root_certificate_pem: str) -> PdfSignatureReport:
    """Report on ``pdf``'s signature, trusting ``root_certificate_pem`` alone; never raises.

    Runs its own event loop: from async code, call it in a worker thread or use the async form.
    """
    return asyncio.run(async_inspect_pdf(pdf, root_certificate_pem))


async def async_inspect_pdf(pdf: bytes, root_certificate_pem: str) -> PdfSignatureReport:
    """The async form of ``inspect_pdf``."""
    if not isinstance(pdf, bytes | bytearray):
        return PdfSignatureReport(signed=False, error="expected the bytes of a PDF")
    if len(pdf) > MAX_PDF_BYTES:
        return PdfSignatureReport(
            signed=False, error=f"expected at most {MAX_PDF_BYTES} bytes, found {len(pdf)}"
        )
    root = translate_pyca_cryptography_cert_to_asn1(load_certificate(root_certificate_pem))
    try:
        reader = PdfFileReader(BytesIO(bytes(pdf)), strict=True, decode_limits=_DECODE_LIMITS)
        signatures = reader.embedded_signatures
    # Hostile input: pyHanko's parser can fail in many ways, and none may escape as a 500.
    except Exception as e:
        return PdfSignatureReport(signed=False, error=f"not a readable PDF: {_brief(e)}")
    if not signatures:
        return PdfSignatureReport(
            signed=False,
            embedded_files=_unsigned_embedded_files(reader),
            error="the PDF carries no signature",
        )
    signature = signatures[0]
    try:
        report = await _judge(signature, root, count=len(signatures))
    except Exception as e:  # as above: a malformed signature must not escape
        return PdfSignatureReport(signed=True, error=f"the signature is unreadable: {_brief(e)}")
    try:
        historical = reader.get_historical_resolver(signature.signed_revision)
        embedded = _embedded_files(historical.root)
    except Exception as e:  # as above
        problem = f"embedded files are unreadable: {_brief(e)}"
        return replace(report, error=f"{report.error}; {problem}" if report.error else problem)
    return replace(report, embedded_files=embedded)


class _PdfSignerAt(signers.PdfSigner):
    """A PdfSigner that states the caller's signing time instead of the wall clock's."""

    def __init__(self, *args: Any, signing_time: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._signing_time = signing_time

    def init_signing_session(self, pdf_out: Any, existing_fields_only: bool = False) -> Any:
        session = super().init_signing_session(pdf_out, existing_fields_only)
        # PdfSigningSession.system_time becomes /M (ETSI EN 319 142-1 §5.3) and the appearance.
        session.system_time = self._signing_time
        return session


async def _judge(signature: EmbeddedPdfSignature, root: Any, *, count: int) -> PdfSignatureReport:
    signer_certificate = signature.signer_cert
    sha256 = hashlib.sha256(signer_certificate.dump()).hexdigest()
    kid = _kid(signer_certificate)
    signed_at = signature.self_reported_timestamp
    if signed_at is None:
        return PdfSignatureReport(
            signed=True,
            signer_certificate_sha256=sha256,
            signer_kid=kid,
            error="the signature states no signing time",
        )
    if signed_at.utcoffset() is None:
        signed_at = signed_at.replace(tzinfo=UTC)
    context = ValidationContext(
        trust_roots=[root],
        allow_fetching=False,
        revocation_mode="none",
        moment=signed_at,
    )
    status = await async_validate_pdf_signature(signature, context, skip_diff=True)
    entire_file = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    problems = []
    if not status.intact:
        problems.append("the signed bytes were changed after signing")
    elif not status.valid:
        problems.append("the signature does not verify")
    elif not status.trusted:
        problems.append(
            "the signer's certificate does not chain to the registry's root at the signing "
            f"time ({getattr(status.trust_problem_indic, 'name', status.trust_problem_indic)})"
        )
    if count != 1:
        problems.append(f"expected exactly one signature, found {count}")
    if not entire_file:
        problems.append("the signature does not cover the entire file: bytes follow it")
    return PdfSignatureReport(
        signed=True,
        intact=bool(status.intact),
        valid=bool(status.trusted) and count == 1,
        coverage_entire_file=entire_file,
        signer_certificate_sha256=sha256,
        signer_kid=kid,
        signing_time=int(signed_at.timestamp()),
        error="; ".join(problems) or None,
    )


def _kid(certificate: Any) -> str | None:
    try:
        public_key = serialization.load_der_public_key(certificate.public_key.dump())
    except ValueError:
        return None
    if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(
        public_key.curve, ec.SECP256R1
    ):
        return key_id(public_key)
    return None


def _embedded_files(catalog: generic.DictionaryObject) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    if "/Names" not in catalog or "/EmbeddedFiles" not in catalog["/Names"]:
        return found
    # ISO 32000-1 §7.9.6: a name tree node holds /Names [key value …] pairs and/or /Kids.
    # Visited breadth-first with a node budget, so a cyclic or very wide tree cannot stall us.
    pending = [catalog["/Names"]["/EmbeddedFiles"]]
    for _ in range(_MAX_NAME_TREE_NODES):
        if not pending or len(found) >= MAX_EMBEDDED_FILES:
            return found
        node = pending.pop(0)
        if "/Names" in node:
            pairs = node["/Names"]
            for index in range(0, min(len(pairs) - 1, 2 * MAX_EMBEDDED_FILES), 2):
                name, data = _file_of(pairs[index], pairs[index + 1])
                found.setdefault(name, data)
        if "/Kids" in node:
            kids = node["/Kids"]
            pending.extend(kids[index] for index in range(min(len(kids), _MAX_NAME_TREE_NODES)))
    return found


def _unsigned_embedded_files(reader: PdfFileReader) -> dict[str, bytes]:
    try:
        return _embedded_files(reader.root)
    except Exception:  # hostile input, as in async_inspect_pdf; the report says "no signature"
        return {}


def _file_of(key: Any, spec: Any) -> tuple[str, bytes]:
    # ISO 32000-1 §7.11.3-4: a file specification's /EF holds the stream under /UF or /F.
    streams = spec["/EF"]
    stream = streams["/UF"] if "/UF" in streams else streams["/F"]
    names = [spec[entry] for entry in ("/UF", "/F") if entry in spec]
    for name in [*names, key]:
        if isinstance(name, str):
            return name, bytes(stream.data)
        if isinstance(name, bytes):
            return name.decode("latin-1"), bytes(stream.data)
    raise misc.PdfReadError("an embedded file has no name")


def _brief(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 3] + "..."
