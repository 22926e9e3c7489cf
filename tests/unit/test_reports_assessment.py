"""The assessment report: every criterion, rationale, section charts, evidence and timeline."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from reports import (
    CriterionLine,
    EvidenceLine,
    Rationale,
    ReportView,
    SectionOutcome,
    render_assessment_report,
)

CE_PLUS_SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def report_view() -> ReportView:
    return ReportView(
        product_name="CareFlow Appointments",
        product_version="4.2.1",
        supplier_name="Northgate Digital Health Ltd",
        intended_purpose="Lets patients book GP appointments online.",
        esf_tier="A",
        device_class="none",
        criteria_set_ref="kitemark-core/1",
        criteria_set_title="Kitemark core criteria",
        criteria_set_sha256="a" * 64,
        dossier_sha256="b" * 64,
        revision=2,
        decision="Approved",
        generated_at=date(2025, 3, 3),
        sections=[
            SectionOutcome("C1", "Clinical safety", None, 0, True, "Met"),
            SectionOutcome("C4", "Interoperability", 88, 60, True, "Met"),
        ],
        criteria=[
            CriterionLine(
                "C1",
                "C1.1",
                "Potential for patient harm",
                "gate",
                "Met",
                None,
                None,
                [Rationale("Reviewer 1", "Hazard log reviewed; harms are administrative.")],
            ),
            CriterionLine(
                "C4",
                "C4.1",
                "Documented interfaces",
                "scored",
                "",
                3,
                4,
                [("Reviewer 2", "OpenAPI published; webhooks undocumented.")],
            ),
            # Its section is not listed: still printed, never dropped.
            CriterionLine(
                "Z9", "Z9.1", "Orphan criterion", "gate", "Not applicable", None, None, []
            ),
        ],
        evidence=[
            EvidenceLine(
                "cyber-essentials-plus.pdf",
                "Cyber Essentials Plus certificate",
                CE_PLUS_SHA256,
                date(2026, 1, 31),
                "checked at source",
                ["C3.1"],
            ),
            EvidenceLine("dpia.pdf", "DPIA", "c" * 64, None, "declared by the supplier", ["C2.3"]),
        ],
        timeline=[
            (date(2025, 1, 10), "Submitted as revision 1"),
            (1738000000, "Changes requested by the lead reviewer"),
        ],
        certificate_id="mkr7q4k9x2mg",
    )


def pdf_text(pdf: bytes, directory: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = directory / "report.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    )
    assert result.stderr == b"", result.stderr  # poppler reads the PDF without complaint
    # Table cells wrap wherever the layout chose: compare with runs of white space as one space.
    return " ".join(result.stdout.decode("utf-8").split())


def test_report_lists_criteria_rationale_evidence_and_timeline(tmp_path: Path) -> None:
    pdf = render_assessment_report(report_view())
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf, tmp_path)
    for expected in (
        "Decision: Approved",
        "MKR-7Q4K-9X2M-G",
        "C1.1",
        "Hazard log reviewed; harms are administrative.",
        "Reviewer 2:",
        "3 of 4",
        "88% (pass mark 60%)",
        "Z9.1",
        CE_PLUS_SHA256,
        "31 January 2026",
        "no expiry",
        "checked at source",
        "10 January 2025",
        "27 January 2025",  # 1738000000 as a UTC date
        "Changes requested by the lead reviewer",
    ):
        assert expected in text, expected
