"""The certificate PDF (DESIGN §4): what it states, the attached statement, the QR size bar."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from collections.abc import Mapping
from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from reports import CertificateView, QrTooLarge, SectionOutcome, render_certificate
from reports.certificate import display_id
from reports.charts import bar_chart_svg
from reports.qr import MAX_QR_VERSION, make_qr

BASE = "https://registry.example.nhs.uk"
CERTIFICATE_ID = "MKR-7Q4K-9X2M-G"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def realistic_jws() -> str:
    """A compact JWS shaped like the registry's: ES256, a thumbprint kid, DESIGN §4 claims."""
    header = {"alg": "ES256", "kid": b64url(bytes(range(32))), "typ": "mkr-certificate+jws"}
    claims = {
        "iss": BASE,
        "cid": CERTIFICATE_ID,
        "pn": "CareFlow Appointments",
        "pv": "4.2.1",
        "sn": "Northgate Digital Health Ltd",
        "cs": "kitemark-core/1",
        "csh": b64url(bytes(range(32, 64))),
        "dh": b64url(bytes(range(64, 96))),
        "iat": 1741000000,
        "exp": 1772536000,
    }

    def part(value: Mapping[str, object]) -> str:
        return b64url(json.dumps(value, separators=(",", ":"), sort_keys=True).encode())

    return f"{part(header)}.{part(claims)}.{b64url(bytes(64))}"


def certificate_view(**changes: object) -> CertificateView:
    jws = realistic_jws()
    fields: dict[str, object] = {
        "certificate_id": CERTIFICATE_ID,
        "product_name": "CareFlow Appointments",
        "product_version": "4.2.1",
        "supplier_name": "Northgate Digital Health Ltd",
        "intended_purpose": (
            "Lets patients book, change and cancel GP appointments online and by text message, "
            "and lets reception staff manage the appointment book. It gives no clinical advice."
        ),
        "population": ("Adult patients registered with the practice", "Reception staff"),
        "settings": ("General practice (primary care)", "Patients' own devices at home"),
        "esf_tier": "A",
        "device_class": "none",
        "criteria_set_ref": "kitemark-core/1",
        "criteria_set_title": "Kitemark core criteria",
        "sections": [
            SectionOutcome("C1", "Clinical safety", None, 0, True, "Met"),
            SectionOutcome("C2", "Data protection", None, 0, True, "Met"),
            SectionOutcome("C3", "Technical security", None, 0, True, "Met"),
            SectionOutcome("C4", "Interoperability", 78, 60, True, "Met"),
            # A plain tuple works too.
            ("D1", "Usability and accessibility", 71, 60, None, "Met"),
            ("E1", "Evidence of benefit", 83, 65, None, "Met"),
        ],
        "issued_at": date(2025, 3, 3),
        "valid_until": date(2026, 3, 2),
        "verify_url": f"{BASE}/v/{CERTIFICATE_ID}#{jws}",
        "verify_base": f"{BASE}/v",
        "statement_jws": jws,
    }
    fields.update(changes)
    return CertificateView(**fields)  # type: ignore[arg-type]


def pdf_text(pdf: bytes, directory: Path) -> str:
    """The PDF's text as poppler's pdftotext extracts it; skips the test if poppler is absent."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = directory / "document.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    )
    assert result.stderr == b"", result.stderr  # poppler reads the PDF without complaint
    return result.stdout.decode("utf-8")


def embedded_files(pdf: bytes) -> dict[str, bytes]:
    """Name → content of each file in /Names /EmbeddedFiles (a flat array, as WeasyPrint writes)."""
    root = PdfFileReader(BytesIO(pdf)).root
    if "/Names" not in root or "/EmbeddedFiles" not in root["/Names"]:
        return {}
    names = root["/Names"]["/EmbeddedFiles"]["/Names"]
    return {str(names[i]): names[i + 1]["/EF"]["/F"].data for i in range(0, len(names), 2)}


@pytest.fixture(scope="module")
def certificate_pdf() -> bytes:
    return render_certificate(certificate_view())


def test_renders_a_one_page_pdf(certificate_pdf: bytes) -> None:
    assert certificate_pdf.startswith(b"%PDF-")
    assert PdfFileReader(BytesIO(certificate_pdf)).root["/Pages"]["/Count"] == 1


def test_states_product_id_dates_and_how_to_verify(certificate_pdf: bytes, tmp_path: Path) -> None:
    text = pdf_text(certificate_pdf, tmp_path)
    for expected in (
        "Good to go",
        "CareFlow Appointments",
        "Version 4.2.1",
        "Northgate Digital Health Ltd",
        CERTIFICATE_ID,
        "3 March 2025",
        "2 March 2026",
        "Tier A",
        "Not a medical device",
        "kitemark-core/1",
        "78% (pass mark 60%)",
        f"{BASE}/v",
        "statement.jws",
    ):
        assert expected in text, expected


def test_attaches_the_signed_statement(certificate_pdf: bytes) -> None:
    assert embedded_files(certificate_pdf) == {"statement.jws": realistic_jws().encode("ascii")}


def test_integer_utc_seconds_are_accepted_for_dates(tmp_path: Path) -> None:
    # 1741000000 is 2025-03-03T11:06:40Z; 1772536000 is 2026-03-03T11:06:40Z.
    pdf = render_certificate(certificate_view(issued_at=1741000000, valid_until=1772536000))
    text = pdf_text(pdf, tmp_path)
    assert "3 March 2025" in text
    assert "3 March 2026" in text


def test_a_realistic_verify_url_fits_the_qr_bar() -> None:
    url = certificate_view().verify_url
    assert 600 <= len(url) <= 760  # DESIGN §4 measured "about 700 characters"
    assert int(make_qr(url).version) <= MAX_QR_VERSION


def test_a_verify_url_above_qr_version_22_fails_loudly() -> None:
    jws = realistic_jws() + "x" * 400  # e.g. the full record put in the statement
    view = certificate_view(verify_url=f"{BASE}/v/{CERTIFICATE_ID}#{jws}", statement_jws=jws)
    with pytest.raises(QrTooLarge, match="version ≤ 22"):
        render_certificate(view)


def test_a_verify_url_beyond_any_qr_version_is_also_qr_too_large() -> None:
    with pytest.raises(QrTooLarge):
        make_qr("x" * 5000)


def test_a_verify_url_not_carrying_this_statement_is_refused() -> None:
    with pytest.raises(ValueError, match="expected verify_url"):
        render_certificate(certificate_view(verify_url=f"{BASE}/v/{CERTIFICATE_ID}#other.jws.x"))
    with pytest.raises(ValueError, match="expected verify_url"):
        render_certificate(certificate_view(verify_base="https://elsewhere.example/v"))


def test_certificate_id_is_printed_grouped() -> None:
    assert display_id("mkr7q4k9x2mg") == CERTIFICATE_ID
    assert display_id(CERTIFICATE_ID) == CERTIFICATE_ID
    assert display_id("not an id") == "not an id"


def test_bar_chart_marks_the_threshold_and_colours_by_outcome() -> None:
    met = bar_chart_svg(78, 60)
    below = bar_chart_svg(50, 60)
    assert met.startswith("<svg")
    assert met.endswith("</svg>")
    assert 'x="119"' in met  # the 2-unit marker centred on 60 % of 200
    assert "#1d6b3a" in met
    assert "#b3261e" in below
    with pytest.raises(ValueError, match=r"0\.\.100"):
        bar_chart_svg(101, 60)
    with pytest.raises(ValueError, match=r"0\.\.100"):
        bar_chart_svg(True, 60)  # a bool is not a percentage
