"""PAdES signatures (DESIGN §4; §5 checks 2 and 4): sign, inspect, and every tampering caught.

Test PDFs are made with pyHanko's own writer (one page of uncompressed text, optionally with an
attached ``statement.jws``), so these tests need neither WeasyPrint nor fixture files.
"""

# pyHanko's PDF writer classes are not annotated; only this test module calls them directly.
# mypy: allow-untyped-calls

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.keys.internal import (
    translate_pyca_cryptography_cert_to_asn1,
    translate_pyca_cryptography_key_to_asn1,
)
from pyhanko.pdf_utils import embed, generic, writer
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from registry.errors import InvalidInput
from registry.signing.keys import (
    KeyFiles,
    RootInfo,
    certificate_sha256,
    create_root_ca,
    create_signing_key,
    load_signing_key,
)
from registry.signing.pades import (
    MAX_EMBEDDED_FILES,
    MAX_PDF_BYTES,
    PdfSignatureReport,
    inspect_pdf,
    sign_pdf,
)
from registry.signing.validity import KeyRecord

NOW = 1_800_000_000
TEXT = b"Kitemark test certificate"
STATEMENT = b"eyJhbGciOiJFUzI1NiJ9.eyJjaWQiOiJNS1ItN1E0Sy05WDJNLUcifQ.c2lnbmF0dXJl"
PDFSIG = shutil.which("pdfsig")


def make_pdf(attachments: dict[str, bytes] | None = None, *, cyclic_names: bool = False) -> bytes:
    """A one-page PDF with uncompressed text, made by pyHanko's writer."""
    w = writer.PdfFileWriter(stream_xrefs=False)
    name = generic.pdf_name
    font = generic.DictionaryObject(
        {name("/Type"): name("/Font"), name("/Subtype"): name("/Type1")}
        | {name("/BaseFont"): name("/Helvetica")}
    )
    resources = generic.DictionaryObject(
        {name("/Font"): generic.DictionaryObject({name("/F1"): w.add_object(font)})}
    )
    content = generic.StreamObject(stream_data=b"BT /F1 18 Tf 72 720 Td (" + TEXT + b") Tj ET")
    page = writer.PageObject(w.add_object(content), (0, 0, 595, 842), resources)
    w.insert_page(page)
    for file_name, data in (attachments or {}).items():
        attached = embed.EmbeddedFileObject.from_file_data(w, data)
        spec = embed.FileSpec(
            file_spec_string=file_name, file_name=file_name, embedded_data=attached
        )
        embed.embed_file(w, spec)
    if cyclic_names:
        # A hostile name tree: one node whose /Kids are itself, a hundred times over.
        node = generic.DictionaryObject()
        ref = w.add_object(node)
        node[name("/Kids")] = generic.ArrayObject([ref] * 100)
        tree = generic.DictionaryObject({name("/EmbeddedFiles"): ref})
        w.root[name("/Names")] = w.add_object(tree)
    out = BytesIO()
    w.write(out)
    return out.getvalue()


@dataclass(frozen=True)
class Registry:
    files: KeyFiles
    root: RootInfo
    key: KeyRecord


def make_registry(directory: Path) -> Registry:
    files = KeyFiles(directory)
    root = create_root_ca(files, NOW)
    return Registry(files, root, create_signing_key(files, NOW).record())


@dataclass(frozen=True)
class Fixture:
    ours: Registry
    theirs: Registry
    unsigned: bytes
    signed: bytes


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    ours = make_registry(tmp_path_factory.mktemp("ours") / "keys")
    theirs = make_registry(tmp_path_factory.mktemp("theirs") / "keys")
    unsigned = make_pdf({"statement.jws": STATEMENT})
    signed = sign(ours, unsigned)
    return Fixture(ours, theirs, unsigned, signed)


def sign(registry: Registry, pdf: bytes) -> bytes:
    return sign_pdf(
        registry.files,
        registry.key,
        pdf,
        reason="Kitemark certificate MKR-7Q4K-9X2M-G",
        location="Kitemark Registry",
        now=NOW + 60,
    )


def test_a_signed_pdf_is_valid_covers_the_whole_file_and_carries_its_statement(
    pdfs: Fixture,
) -> None:
    report = inspect_pdf(pdfs.signed, pdfs.ours.root.certificate_pem)
    assert report == PdfSignatureReport(
        signed=True,
        intact=True,
        valid=True,
        coverage_entire_file=True,
        signer_certificate_sha256=certificate_sha256(pdfs.ours.key.certificate_pem),
        signer_kid=pdfs.ours.key.kid,
        signing_time=NOW + 60,
        embedded_files={"statement.jws": STATEMENT},
        error=None,
    )


def test_the_signature_is_pades_baseline_b_with_the_root_in_the_chain(pdfs: Fixture) -> None:
    (signature,) = PdfFileReader(BytesIO(pdfs.signed)).embedded_signatures
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert signature.sig_object["/Reason"] == "Kitemark certificate MKR-7Q4K-9X2M-G"
    assert signature.md_algorithm == "sha256"
    assert signature.signer_info["signature_algorithm"]["algorithm"].native == "sha256_ecdsa"
    # ETSI EN 319 142-1 §5.3: no CMS signing-time attribute in PAdES; /M carries the time.
    signed_attributes = {attr["type"].native for attr in signature.signer_info["signed_attrs"]}
    assert "signing_time" not in signed_attributes
    assert "signing_certificate_v2" in signed_attributes
    embedded = {certificate.sha256.hex() for certificate in signature.other_embedded_certs}
    assert pdfs.ours.root.sha256 in embedded


def appended(pdf: bytes) -> bytes:
    return pdf + b"\n% a comment after the end of the file\n"


def language_update(pdf: bytes) -> bytes:
    """An innocent-looking incremental update: the document language is set after signing."""
    w = IncrementalPdfFileWriter(BytesIO(pdf))
    w.root["/Lang"] = generic.TextStringObject("en-GB")
    w.update_root()
    out = BytesIO()
    w.write(out)
    return out.getvalue()


def statement_swap(pdf: bytes) -> bytes:
    """An incremental update that replaces the attached statement with a forged one."""
    w = IncrementalPdfFileWriter(BytesIO(pdf))
    names = w.root["/Names"]["/EmbeddedFiles"]["/Names"]
    forged = embed.EmbeddedFileObject.from_file_data(w, b"forged.statement.jws")
    files = names[1]["/EF"]
    files["/F"] = files["/UF"] = forged.ef_stream_ref
    w.mark_update(names.raw_get(1))
    out = BytesIO()
    w.write(out)
    return out.getvalue()


def flipped(pdf: bytes) -> bytes:
    at = pdf.index(TEXT)
    return pdf[:at] + b"J" + pdf[at + 1 :]


def countersigned(registry: Registry) -> Callable[[bytes], bytes]:
    """A second signature, by another registry's key, in an incremental update."""

    def tamper(pdf: bytes) -> bytes:
        private_key, certificate = load_signing_key(registry.files, registry.key.kid)
        signer = signers.SimpleSigner(
            signing_cert=translate_pyca_cryptography_cert_to_asn1(certificate),
            signing_key=translate_pyca_cryptography_key_to_asn1(private_key),
            cert_registry=SimpleCertificateStore(),
        )
        metadata = signers.PdfSignatureMetadata(
            field_name="Second", subfilter=fields.SigSeedSubFilter.PADES
        )
        out = signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf)), metadata, signer)
        return bytes(out.getvalue())

    return tamper


@dataclass(frozen=True)
class Tampering:
    name: str
    tamper: Callable[[Fixture], bytes]
    signed: bool
    intact: bool
    valid: bool
    entire_file: bool
    says: str


TAMPERINGS = [
    Tampering(
        "bytes appended after the end of the file",
        lambda f: appended(f.signed),
        signed=True,
        intact=True,
        valid=True,
        entire_file=False,
        says="does not cover the entire file",
    ),
    Tampering(
        "an incremental update pyHanko would call permitted",
        lambda f: language_update(f.signed),
        signed=True,
        intact=True,
        valid=True,
        entire_file=False,
        says="does not cover the entire file",
    ),
    Tampering(
        "an incremental update swapping the attached statement",
        lambda f: statement_swap(f.signed),
        signed=True,
        intact=True,
        valid=True,
        entire_file=False,
        says="does not cover the entire file",
    ),
    Tampering(
        "a second signature by another registry's key",
        lambda f: countersigned(f.theirs)(f.signed),
        signed=True,
        intact=True,
        valid=False,
        entire_file=False,
        says="expected exactly one signature, found 2",
    ),
    Tampering(
        "one byte flipped in the signed text",
        lambda f: flipped(f.signed),
        signed=True,
        intact=False,
        valid=False,
        entire_file=True,
        says="changed after signing",
    ),
    Tampering(
        "signed by another registry's root",
        lambda f: sign(f.theirs, f.unsigned),
        signed=True,
        intact=True,
        valid=False,
        entire_file=True,
        says="does not chain to the registry's root",
    ),
    Tampering(
        "never signed",
        lambda f: f.unsigned,
        signed=False,
        intact=False,
        valid=False,
        entire_file=False,
        says="carries no signature",
    ),
    Tampering(
        "truncated to half",
        lambda f: f.signed[: len(f.signed) // 2],
        signed=False,
        intact=False,
        valid=False,
        entire_file=False,
        says="not a readable PDF",
    ),
    Tampering(
        "the signature's contents zeroed",
        lambda f: zeroed_contents(f.signed),
        signed=False,
        intact=False,
        valid=False,
        entire_file=False,
        says="not a readable PDF",
    ),
    Tampering(
        "random bytes",
        lambda f: bytes(range(256)) * 8,
        signed=False,
        intact=False,
        valid=False,
        entire_file=False,
        says="not a readable PDF",
    ),
    Tampering(
        "nothing at all",
        lambda f: b"",
        signed=False,
        intact=False,
        valid=False,
        entire_file=False,
        says="not a readable PDF",
    ),
    Tampering(
        "too large to read",
        lambda f: f.signed + b"\0" * MAX_PDF_BYTES,
        signed=False,
        intact=False,
        valid=False,
        entire_file=False,
        says=f"expected at most {MAX_PDF_BYTES} bytes",
    ),
]


def zeroed_contents(pdf: bytes) -> bytes:
    start = pdf.index(b"/Contents <") + len(b"/Contents <")
    end = pdf.index(b">", start)
    return pdf[:start] + b"0" * (end - start) + pdf[end:]


@pytest.mark.parametrize("case", TAMPERINGS, ids=lambda case: case.name)
def test_tampering_is_reported_never_raised(pdfs: Fixture, case: Tampering) -> None:
    report = inspect_pdf(case.tamper(pdfs), pdfs.ours.root.certificate_pem)
    assert (report.signed, report.intact, report.valid) == (case.signed, case.intact, case.valid)
    assert report.coverage_entire_file is case.entire_file
    assert report.error is not None
    assert case.says in report.error


def test_attachments_are_read_from_the_signed_revision(pdfs: Fixture) -> None:
    report = inspect_pdf(statement_swap(pdfs.signed), pdfs.ours.root.certificate_pem)
    assert report.embedded_files == {"statement.jws": STATEMENT}


def test_a_cyclic_name_tree_is_walked_within_a_budget(pdfs: Fixture) -> None:
    signed = sign(pdfs.ours, make_pdf(cyclic_names=True))
    report = inspect_pdf(signed, pdfs.ours.root.certificate_pem)
    assert report.valid
    assert report.embedded_files == {}


def test_at_most_sixteen_attachments_are_read(pdfs: Fixture) -> None:
    many = {f"file-{index:02}.txt": b"x" for index in range(MAX_EMBEDDED_FILES + 4)}
    report = inspect_pdf(sign(pdfs.ours, make_pdf(many)), pdfs.ours.root.certificate_pem)
    assert report.valid
    assert len(report.embedded_files) == MAX_EMBEDDED_FILES


def test_inspect_accepts_only_bytes(pdfs: Fixture) -> None:
    report = inspect_pdf("%PDF-1.7", pdfs.ours.root.certificate_pem)  # type: ignore[arg-type]
    assert not report.signed
    assert report.error == "expected the bytes of a PDF"


def test_signing_something_that_is_not_a_pdf_is_refused(pdfs: Fixture) -> None:
    with pytest.raises(InvalidInput, match="expected a PDF that can be signed"):
        sign(pdfs.ours, b"not a PDF")


@pytest.mark.skipif(PDFSIG is None, reason="poppler-utils' pdfsig is not installed")
@pytest.mark.parametrize(
    ("name", "tamper", "whole"),
    [
        ("as signed", lambda pdf: pdf, True),
        ("after an incremental update", language_update, False),
    ],
)
def test_poppler_agrees_about_coverage(
    pdfs: Fixture, tmp_path: Path, name: str, tamper: Callable[[bytes], bytes], whole: bool
) -> None:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(tamper(pdfs.signed))
    assert PDFSIG is not None
    result = subprocess.run([PDFSIG, str(path)], capture_output=True, text=True, check=False)
    assert "Signature Type: ETSI.CAdES.detached" in result.stdout
    assert ("Total document signed" in result.stdout) is whole, name


CERTUTIL = shutil.which("certutil")


@pytest.mark.skipif(
    PDFSIG is None or CERTUTIL is None,
    reason="needs pdfsig (poppler-utils), certutil (libnss3-tools)",
)
def test_a_reader_that_trusts_the_root_trusts_the_signer(tmp_path: Path) -> None:
    # Evince and Okular judge a signer as pdfsig does, through NSS: the registry's root imported
    # into a fresh NSS database must make the signing certificate "Trusted".
    assert PDFSIG is not None
    assert CERTUTIL is not None
    # Keys made now: NSS judges the signer at the current time, not at the signing time.
    now = int(time.time())
    files = KeyFiles(tmp_path / "keys")
    create_root_ca(files, now)
    key = create_signing_key(files, now).record()
    signed = sign_pdf(
        files,
        key,
        make_pdf({"statement.jws": STATEMENT}),
        reason="Kitemark certificate",
        location="Kitemark Registry",
        now=now,
    )
    nss = tmp_path / "nss"
    nss.mkdir()
    database = f"sql:{nss}"
    for command in (
        [CERTUTIL, "-N", "-d", database, "--empty-password"],
        [
            CERTUTIL,
            "-A",
            "-d",
            database,
            "-n",
            "registry root",
            "-t",
            "C,C,C",
            "-i",
            str(files.root_certificate),
        ],
    ):
        subprocess.run(command, capture_output=True, check=True)
    path = tmp_path / "certificate.pdf"
    path.write_bytes(signed)
    result = subprocess.run(
        [PDFSIG, "-nssdir", database, str(path)], capture_output=True, text=True, check=False
    )
    assert "Signature is Valid" in result.stdout, result.stdout
    assert "Certificate is Trusted" in result.stdout, result.stdout


def test_a_timestamp_authority_is_used_only_when_configured() -> None:
    from pyhanko.sign.timestamps import HTTPTimeStamper

    from registry.signing.pades import timestamper_for

    assert timestamper_for(None) is None
    assert timestamper_for("") is None
    assert isinstance(timestamper_for("http://127.0.0.1:9/tsa"), HTTPTimeStamper)
